"""Keep or ship a run: download its model (TorchScript, ONNX) or the whole run as a bundle; restore a bundle."""

from __future__ import annotations

import streamlit as st

from core import LightboxError, RunInfo, RunStore, bundle_bytes, bundle_file_name, export_bytes, restore_bundle
from dashboard.text import plain, sentence
from dashboard.widgets import user_errors

# (button label, format, file extension, MIME type, what the file is for)
DOWNLOADS = (
    ("TorchScript", "torchscript", "pt", "application/octet-stream", "The model for PyTorch or C++, no Lightbox."),
    ("ONNX", "onnx", "onnx", "application/octet-stream", "The model for onnxruntime: servers, browsers, phones."),
    ("Run bundle", "bundle", "zip", "application/zip", "The whole run (settings, curves, weights), to restore here."),
)


def file_size(n: int) -> str:
    """Return a byte count in words a person reads at a glance (KB or MB)."""
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(n / 1e3, 0.1):.1f} KB"


def _build(store: RunStore, run: RunInfo, fmt: str) -> bytes | str:
    """Return one download's bytes, or the sentence that says why it cannot be made."""
    try:
        return bundle_bytes(store, run.id) if fmt == "bundle" else export_bytes(store, run.id, fmt)
    except LightboxError as exc:
        return str(exc)


def ship_ui(store: RunStore, run: RunInfo) -> None:
    """Offer a run's model as TorchScript and ONNX and the run as a bundle, built only when asked for."""
    version = f"{run.id}@{run.updated}"  # a run still training gets new weights: prepare again
    prepared = st.session_state.get("ship_files")
    if prepared is None or prepared[0] != version:
        if not st.button(
            "Prepare downloads",
            key="ship_prepare",
            icon=":material/package_2:",
            help="Exports the model and checks that each file gives the same answers (seconds; longer for "
            "pretrained models).",
        ):
            return
        with st.spinner("Exporting the model and checking each file..."):
            prepared = (version, {fmt: _build(store, run, fmt) for _, fmt, *_ in DOWNLOADS})
        st.session_state["ship_files"] = prepared
    for column, (label, fmt, ext, mime, what) in zip(st.columns(len(DOWNLOADS)), DOWNLOADS, strict=True):
        data = prepared[1][fmt]
        with column:
            if isinstance(data, str):
                st.error(sentence(data), icon=":material/error:")
                continue
            st.download_button(
                f"{label} · {file_size(len(data))}",
                data,
                file_name=bundle_file_name(run) if fmt == "bundle" else f"lightbox-{run.id}.{ext}",
                mime=mime,
                key=f"ship_download_{fmt}",
                on_click="ignore",
                icon=":material/download:",
            )
            st.caption(what)


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
        run = restore_bundle(store, upload)
    epochs = len(store.history(run.id))
    st.session_state["restore_note"] = f"Restored '{plain(run.name)}' ({epochs} epochs, {run.status}) as run {run.id}."
    st.rerun()  # so the runs table above lists it
