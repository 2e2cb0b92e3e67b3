"""Teach: your own classes, recorded by holding a button in front of the camera (or uploaded), trained in seconds."""

from __future__ import annotations

import streamlit as st

from core import UPLOAD_TYPES, available_pretrained, decode_image
from dashboard import camera, teach
from dashboard.charts import topk_figure
from dashboard.keys import TEACH_TARGET
from dashboard.resources import get_predictor
from dashboard.text import plain
from dashboard.widgets import help_box, user_errors

st.title("Teach")
help_box(
    "Teach the computer your own classes: show it a few examples of each (your face, a mug, a thumbs-up). "
    "Hold the button to record what the camera sees, or add files. It reuses a network that already learned "
    "to see from a million photos (*transfer learning*), so it only has to learn what tells **your** classes "
    "apart: a few seconds of training. Then it names what the camera sees, live."
)
if not available_pretrained():
    st.error("The pretrained network is not installed: `pip install -r requirements.txt`.", icon=":material/error:")
    st.stop()

samples = teach.samples()
names = list(samples)
if st.session_state.get(TEACH_TARGET) not in names:
    st.session_state.pop(TEACH_TARGET, None)  # its class was removed or renamed
target = st.segmented_control(
    "Record into", names, key=TEACH_TARGET, default=next(iter(names), None), format_func=plain, required=True
)


@st.fragment
def live_view(into: str | None) -> None:
    """The camera with its hold-to-record button; once trained, one live bar per class."""
    teach.live_teach("teach_live", into)


if camera.camera_missing():
    st.info(camera.NO_CAMERA_HELP, icon=":material/videocam_off:")
    st.button("Try the camera again", on_click=camera.forget_missing, key="teach_camera_retry")
else:
    live_view(target)

teach.train_button(samples)
run_id, summary = teach.taught() or (None, "")
if run_id is not None:
    st.success(summary, icon=":material/check_circle:")
else:
    st.caption("Record or add at least two examples of each of two classes, then press **Train**.")

st.subheader("Your classes")
teach.notice()
c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
c1.text_input(
    "New class",
    key="teach_new_class",
    placeholder="e.g. thumbs up, then Enter",
    max_chars=40,
    on_change=teach.add_class,
    args=("teach_new_class",),
)
c2.button("Add class", icon=":material/add:", on_click=teach.add_class, args=("teach_new_class",))
for position, (name, files) in enumerate(list(samples.items())):
    with st.container(border=True):
        head, count, remove = st.columns([3, 2, 1], vertical_alignment="center")
        head.text_input(
            "Class name",
            value=name,
            key=f"teach_name_{position}_{name}",
            on_change=teach.rename_class,
            args=(name, f"teach_name_{position}_{name}"),
            label_visibility="collapsed",
            max_chars=40,
        )
        count.markdown(f"**{plain(name)}** · {len(files)} image{'s' if len(files) != 1 else ''}")
        remove.button("Remove class", key=f"teach_drop_{name}", on_click=teach.remove_class, args=(name,))
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

if run_id is not None and camera.camera_missing():
    st.subheader("Try it on a photo")
    photo = st.file_uploader("A photo to try", type=UPLOAD_TYPES, key="teach_try_upload")
    if photo is not None:
        with user_errors():
            result = get_predictor(run_id).classify(decode_image(photo.getvalue()), top_k=5)
        best = result.predictions[0]
        st.metric("It thinks this is", plain(best.label), f"{best.probability:.0%} sure", delta_color="off")
        st.plotly_chart(topk_figure(result.predictions), key="teach_bars")
