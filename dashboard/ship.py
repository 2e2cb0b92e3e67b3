"""Keep or ship a run: download its model (.pt2, ONNX, TorchScript) or the whole run as a bundle, make an int8
copy, read the code that trains it again; restore a bundle."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core import LightboxError, RunInfo, RunStore, bundle_bytes, bundle_file_name, export_bytes, restore_bundle
from core.quantize_runs import is_int8, quantize_in_child
from core.script import training_script
from dashboard.resources import check_room
from dashboard.text import plain
from dashboard.widgets import user_errors

_BINARY = "application/octet-stream"
# (button label, format, file extension, MIME type, what the file is for)
DOWNLOADS = (
    ("PyTorch .pt2", "pt2", "pt2", _BINARY, "torch.export, today's format: torch.export.load(f).module()."),
    ("ONNX", "onnx", "onnx", _BINARY, "The model for onnxruntime: servers, browsers, phones."),
    ("TorchScript (old)", "torchscript", "pt", _BINARY, "The old PyTorch format (torch.jit, deprecated)."),
    ("Run bundle", "bundle", "zip", "application/zip", "The whole run (settings, curves, weights), to restore here."),
)


def file_size(n: int) -> str:
    """Return a byte count in words a person reads at a glance (KB or MB)."""
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(n / 1e3, 0.1):.1f} KB"


def download_data(store: RunStore, run_id: str, fmt: str) -> Callable[[], bytes]:
    """Return a function that builds one download when clicked (nothing is kept in the session).

    .pt2 and ONNX files are written by a child process: their exporters would stay in the server for good.
    """

    def build() -> bytes:
        return bundle_bytes(store, run_id) if fmt == "bundle" else export_bytes(store, run_id, fmt, in_child=True)

    return build


def ship_ui(store: RunStore, run: RunInfo) -> None:
    """Offer a run's model as .pt2, ONNX and TorchScript and the run as a bundle, each built when clicked."""
    st.caption("Each file is exported and checked (same answers as the model) when you click its button.")
    downloads = [d for d in DOWNLOADS if d[1] == "bundle"] if is_int8(run) else DOWNLOADS
    for column, (label, fmt, ext, mime, what) in zip(st.columns(len(downloads)), downloads, strict=True):
        with column:
            st.download_button(
                label,
                download_data(store, run.id, fmt),
                file_name=bundle_file_name(run) if fmt == "bundle" else f"lightbox-{run.id}.{ext}",
                mime=mime,
                key=f"ship_download_{fmt}",
                on_click="ignore",
                icon=":material/download:",
                wrap=True,  # a quarter of the page at 1024 px cut "TorchScript (old)" to "TorchScrip..."
            )
            st.caption(what)
    if is_int8(run):
        st.caption("An int8 run ships as a bundle; export its fp32 original to .pt2 or ONNX.")
    int8_ui(store, run)
    code_ui(run)


def _int8_metrics(run: RunInfo, original: RunInfo | None) -> None:
    """Show an int8 run's size, latency and agreement beside its fp32 original's."""
    m, o = run.metrics, (original.metrics if original else {})
    size, latency, agree = st.columns(3)
    size.metric("Size", f"{m['size_mb']:.2f} MB", _delta(m["size_mb"], o.get("size_mb"), "MB"), delta_color="inverse")
    latency.metric(
        "Latency, one image", f"{m['latency_ms']:.2f} ms", _delta(m["latency_ms"], o.get("latency_ms"), "ms"),
        delta_color="inverse",
    )  # fmt: skip
    agree.metric(
        "Same answer as fp32", f"{m['agreement']:.1%}", help=f"Top-1 agreement on {m['agreement_images']} images."
    )


def _delta(value: float, before: float | None, unit: str) -> str | None:
    return None if before is None else f"{value - before:+.2f} {unit} vs fp32"


def int8_ui(store: RunStore, run: RunInfo) -> None:
    """Make an int8 copy of a finished run, with progress, then show what it costs and saves."""
    note = st.session_state.pop("int8_note", None)
    if note:
        st.success(note, icon=":material/check_circle:")
    if is_int8(run):
        source = str(run.metrics.get("int8_of", ""))
        original = next((r for r in store.list_runs() if r.id == source), None)
        st.markdown(f"**int8 copy** of {plain(original.name) if original else 'run ' + plain(source)}")
        _int8_metrics(run, original)
        return
    if run.status not in ("finished", "stopped"):
        return
    if not st.button(
        "Make an int8 copy", key="int8_make", icon=":material/compress:",
        help="Quantizes the weights and activations to 8-bit integers, calibrated on the run's training images, "
        "and keeps the result as a new run: smaller, and faster for the larger networks (its size and speed are "
        "measured and shown beside the original's).",
    ):  # fmt: skip
        return
    with st.status("Making an int8 copy...", expanded=True) as status:
        bar = st.progress(0.0)
        with user_errors():  # a child process calibrates: a Lite0 run's copy peaks at +525 MB, kept by none
            new = quantize_in_child(store, run.id, lambda stage, done: bar.progress(min(max(done, 0.0), 1.0), stage))
        status.update(label="int8 copy made", state="complete")
    m, was = new.metrics, run.metrics
    st.session_state["int8_note"] = (
        f"Made '{plain(new.name)}' (run {new.id}): {_against(m['size_mb'], was.get('size_mb'), 'MB', 'smaller')}, "
        f"{_against(m['latency_ms'], was.get('latency_ms'), 'ms per image', 'faster')}, "
        f"same answer as fp32 on {m['agreement']:.1%} of {m['agreement_images']} validation images."
    )
    st.rerun()  # so the runs table lists it


def _against(value: float, fp32: float | None, unit: str, better: str) -> str:
    """Say a figure of an int8 copy beside its original's: '0.56 ms per image (fp32: 0.24, 2.3x slower)'."""
    if not fp32:
        return f"{value:.2f} {unit}"
    worse = {"smaller": "larger", "faster": "slower"}[better]
    ratio = fp32 / value if value <= fp32 else value / fp32
    return f"{value:.2f} {unit} (fp32: {fp32:.2f}, {ratio:.1f}x {better if value <= fp32 else worse})"


def script_data(run: RunInfo) -> Callable[[], bytes]:
    """Return a function that writes the run's training script when the download is clicked."""
    return lambda: training_script(run).encode()


def code_ui(run: RunInfo, expanded: bool = False) -> None:
    """Show the standalone PyTorch script that trains this run again, with a download built when clicked."""
    with st.expander("Code: train this run again in plain PyTorch", expanded=expanded, icon=":material/code:"):
        try:
            script = training_script(run)
        except LightboxError as exc:
            st.info(str(exc), icon=":material/info:")
            return
        st.download_button(
            "Download the script", script_data(run), file_name=f"train_{run.id}.py", mime="text/x-python",
            key=f"code_download_{run.id}", on_click="ignore", icon=":material/download:",
        )  # fmt: skip
        st.caption(
            "Needs only torch and torchvision (plus the data's loader); prints val_accuracy at the end. "
            "It rebuilds the same split, weights and batches, so it lands at the run's accuracy or very near."
        )
        st.code(script, language="python", line_numbers=True)


def restore_ui(store: RunStore) -> None:
    """Restore a run from an uploaded bundle .zip, then say so above the uploader."""
    note = st.session_state.pop("restore_note", None)
    if note:
        st.success(note, icon=":material/check_circle:")
    upload = st.file_uploader(
        "Restore a run bundle (.zip)",
        type=["zip"],
        key="restore_upload",
        help="A file from the 'Run bundle' button or `python -m core bundle`. It is checked before anything is kept.",
    )
    if upload is None or not st.button("Restore this run", key="restore_button", icon=":material/restore:"):
        return
    with user_errors():
        check_room()  # a private server's disk limit per visitor
        run = restore_bundle(store, upload)
    epochs = len(store.history(run.id))
    st.session_state["restore_note"] = f"Restored '{plain(run.name)}' ({epochs} epochs, {run.status}) as run {run.id}."
    st.rerun()  # so the runs table above lists it
