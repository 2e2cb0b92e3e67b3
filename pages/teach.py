"""Teach: your own classes from webcam snapshots and uploads, trained in seconds, tried live."""

from __future__ import annotations

import streamlit as st

from core import available_pretrained, decode_image
from dashboard import teach
from dashboard.charts import topk_figure
from dashboard.resources import get_predictor
from dashboard.text import plain
from dashboard.widgets import explain, user_errors

st.title("Teach")
explain(
    "Teach the computer your own classes: show it a few examples of each (your face, a mug, a thumbs-up) "
    "with the webcam or from files. It reuses a network that already learned to see from a million photos "
    "(*transfer learning*), so it only has to learn what tells **your** classes apart: a few seconds of "
    "training. Then show it something new and see what it thinks."
)
if not available_pretrained():
    st.error("The pretrained network is not installed: `pip install -r requirements.txt`.", icon=":material/error:")
    st.stop()

samples = teach.samples()
st.subheader("1. Collect examples")
c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
c1.text_input("New class", key="teach_new_class", placeholder="e.g. thumbs up", max_chars=40)
c2.button("Add class", icon=":material/add:", on_click=teach.add_class, args=("teach_new_class",))
target = st.segmented_control(
    "Webcam snapshots go to", list(samples), key="teach_target", default=next(iter(samples), None)
)
st.camera_input(
    "Webcam",
    key="teach_camera",
    on_change=teach.add_snapshot,
    args=("teach_camera", "teach_target"),
    help="Each photo you take is added to the class chosen above. Clear it to take the next one.",
)
for name, files in list(samples.items()):
    with st.container(border=True):
        head, remove = st.columns([4, 1])
        head.markdown(f"**{plain(name)}** · {len(files)} image{'s' if len(files) != 1 else ''}")
        remove.button("Remove class", key=f"teach_drop_{name}", on_click=teach.remove_class, args=(name,))
        st.file_uploader(
            f"Add images of {plain(name)}",
            type=["png", "jpg", "jpeg", "gif", "bmp", "webp"],
            accept_multiple_files=True,
            key=teach.uploader_key(name),
            on_change=teach.add_uploads,
            args=(name,),
            label_visibility="collapsed",
        )
        cells = st.columns(8)
        for i, thumb in enumerate(teach.thumbnails(files)):
            with cells[i % 8]:
                if thumb is None:
                    st.caption("not an image")
                else:
                    st.image(thumb, width=72)
                st.button(
                    "✕",
                    key=f"teach_rm_{name}_{i}",
                    on_click=teach.remove_sample,
                    args=(name, i),
                    help="Remove this example",
                )

st.subheader("2. Train")
teach.train_button(samples)

run_id = st.session_state.get("teach_run")
if run_id is not None:
    st.success(st.session_state["teach_summary"], icon=":material/check_circle:")
else:
    st.info("Add at least two examples to each of two classes, then press **Train**.", icon=":material/info:")
    st.stop()

st.subheader("3. Try it")
photo = st.camera_input("Show it something", key="teach_try")
if photo is None:
    st.stop()
with user_errors():
    result = get_predictor(run_id).classify(decode_image(photo.getvalue()), top_k=5)
best = result.predictions[0]
st.metric("It thinks this is", plain(best.label), f"{best.probability:.0%} sure", delta_color="off", delta_arrow="off")
st.plotly_chart(topk_figure(result.predictions), key="teach_bars")
