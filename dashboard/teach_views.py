"""The Teach page's pieces: which class the camera records into, the class editor, and trying a photo."""

from __future__ import annotations

import streamlit as st

from core import UPLOAD_TYPES, decode_image
from dashboard import teach
from dashboard.charts import topk_figure
from dashboard.keys import TEACH_TARGET
from dashboard.presenter import show_chart
from dashboard.resources import get_predictor
from dashboard.text import plain
from dashboard.widgets import user_errors


def target_ui(examples: dict[str, list[bytes]]) -> None:
    """Choose the class that held camera frames go into (the first one to start; teach.recording_into reads it)."""
    names = list(examples)
    if st.session_state.get(TEACH_TARGET) not in names:
        st.session_state.pop(TEACH_TARGET, None)  # its class was removed or renamed (here or on the other page)
    st.segmented_control(
        "Record into", names, key=TEACH_TARGET, default=next(iter(names), None), format_func=plain, required=True
    )


def classes_ui(samples: dict[str, list[bytes]]) -> None:
    """Edit the classes: add one, and for each rename it, remove it, add files and remove single examples."""
    st.subheader("Your classes")
    teach.notice()
    # No max_chars: Streamlit's box refuses a whole paste longer than that; the store cuts names to 40 characters.
    # A form: the name reaches the server once, on Enter or the button. As a plain text input with on_change, a
    # live camera's next frame (a fragment rerun sent with the box's last value) added it again: "already there".
    with st.form("teach_new_class_form", clear_on_submit=True, border=False):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.text_input("New class", key="teach_new_class", placeholder="e.g. thumbs up, then Enter")
        c2.form_submit_button("Add class", icon=":material/add:", on_click=teach.add_class, args=("teach_new_class",))
    for position, (name, files) in enumerate(list(samples.items())):
        _class_ui(position, name, files)


def _class_ui(position: int, name: str, files: list[bytes]) -> None:
    """One class: its name to edit, its count, Remove, an uploader and its examples, each removable."""
    with st.container(border=True):
        row = st.container(horizontal=True, vertical_alignment="center")  # "Remove class" whole: a column cut it
        # to "Re..." in presenter mode at 1024 x 768
        row.text_input(
            "Class name",
            value=name,
            key=f"teach_name_{position}_{name}",
            on_change=teach.rename_class,
            args=(name, f"teach_name_{position}_{name}"),
            label_visibility="collapsed",
        )
        row.markdown(f"**{plain(name)}** · {len(files)} image{'s' if len(files) != 1 else ''}", width="content")
        row.button("Remove class", key=f"teach_drop_{name}", on_click=teach.remove_class, args=(name,))
        st.file_uploader(
            f"Add images of {plain(name)}",
            type=UPLOAD_TYPES,
            accept_multiple_files=True,
            key=teach.uploader_key(name),
            on_change=teach.add_uploads,
            args=(name,),
            label_visibility="collapsed",
        )
        cells = st.columns(10)
        for i, thumb in enumerate(teach.thumbnails(files)):
            with cells[i % 10]:
                if thumb is None:
                    st.caption("unreadable")
                else:
                    st.image(thumb, width=56)
                st.button(
                    "✕",
                    key=f"teach_rm_{name}_{i}",
                    on_click=teach.remove_sample,
                    args=(name, i),
                    help="Remove this example",
                )


def try_photo_ui(run_id: str) -> None:
    """Name what an uploaded photo shows with the taught model (where there is no camera to show it)."""
    st.subheader("Try it on a photo")
    photo = st.file_uploader("A photo to try", type=UPLOAD_TYPES, key="teach_try_upload")
    if photo is not None:
        with user_errors():
            result = get_predictor(run_id).classify(decode_image(photo.getvalue()), top_k=5)
        best = result.predictions[0]
        st.metric("It thinks this is", plain(best.label), f"{best.probability:.0%} sure", delta_color="off")
        show_chart(topk_figure(result.predictions), key="teach_bars")
