"""Session-state keys that more than one module reads or writes, each named once.

A widget group (`dataset_ui(group)`, `train_settings_ui(group)`, ...) keeps each of its settings at
`setting_key(group, name)`, so a page can set or point at one of them without spelling the key out.
A key that only one module uses stays there, as that module's private constant.
"""

from __future__ import annotations

import streamlit as st

DATA = "data"  # the Data page's widget group
TRAIN = "train"  # the Train page's widget groups
TEACH_TARGET = "teach_target"  # the class the camera records into (Teach and the Tour's step 5)


def setting_key(group: str, name: str) -> str:
    """Return the session key of one setting of a widget group: setting_key(TRAIN, "lr") is "train_lr"."""
    return f"{group}_{name}"


# The settings of the Data and Train pages, kept while another page is shown (see keep_settings).
KEPT_SETTINGS = (
    *(setting_key(DATA, name) for name in ("dataset", "size", "samples")),
    *(setting_key(TRAIN, name) for name in ("dataset", "size", "samples", "model", "epochs", "lr", "batch", "opt")),
    *(setting_key(TRAIN, name) for name in ("schedule", "augment", "seed", "device", "precision")),
)


def keep_settings() -> None:
    """Keep each page's settings when the visitor looks at another page and comes back (call before every page).

    Streamlit forgets a widget's value once a run does not draw it, so Train came back with its sliders at their
    minimums (1 epoch, a rate of 1e-05, batches of 8) and Start trained that. A value set through session state
    is kept: each run sets each setting to itself (what Streamlit's documentation suggests for multipage apps).
    """
    for key in KEPT_SETTINGS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
