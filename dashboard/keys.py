"""Session-state keys that more than one module reads or writes, each named once.

A widget group (`dataset_ui(group)`, `train_settings_ui(group)`, ...) keeps each of its settings at
`setting_key(group, name)`, so a page can set or point at one of them without spelling the key out.
A key that only one module uses stays there, as that module's private constant.
"""

from __future__ import annotations

DATA = "data"  # the Data page's widget group
TRAIN = "train"  # the Train page's widget groups
TEACH_TARGET = "teach_target"  # the class the camera records into (Teach and the Tour's step 5)


def setting_key(group: str, name: str) -> str:
    """Return the session key of one setting of a widget group: setting_key(TRAIN, "lr") is "train_lr"."""
    return f"{group}_{name}"
