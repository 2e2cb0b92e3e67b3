"""The Data page's sections: adding and deleting your own datasets, and each view of the dataset chosen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core import (
    DATASETS,
    DataConfig,
    ImageDataset,
    LightboxError,
    augment_preview,
    delete_user_dataset,
    import_dataset,
    tensor_to_pil,
    train_val_split,
)
from dashboard.analysis_charts import projection_figure
from dashboard.charts import class_counts_figure, pixel_histogram_figure
from dashboard.images import contact_strip
from dashboard.keys import DATA, setting_key
from dashboard.presenter import show_chart
from dashboard.resources import check_room, dataset_duplicates, dataset_projection, import_limits, is_private, workspace
from dashboard.tables import arrow_table, show_table
from dashboard.text import plain
from dashboard.widgets import error_box, progress_callback, user_errors

SKIPPED_SHOWN = 100  # skipped files listed after an import, the first ones
_IMPORTS = "data_imports"  # how many imports this session made
_IMPORTED = "data_imported"  # what the last import said, drawn on the page's next run


def import_ui() -> None:
    """Offer to import a .zip of class folders as a dataset; choose it in the dataset box once imported."""
    with st.expander("Add your own images", icon=":material/add_photo_alternate:"):
        st.markdown(
            "Make one folder per class (say `cats/` and `dogs/`) holding that class's pictures, "
            "zip the folders together and upload the zip."
        )
        c1, c2 = st.columns([2, 1])
        import_name = c1.text_input("Name", key="data_import_name", placeholder="my-pets")
        import_size = c2.selectbox(
            "Image size (pixels)",
            [32, 64, 96, 128],
            index=1,
            key="data_import_size",
            help="Every picture is scaled to a square this big: bigger keeps more detail but trains slower.",
        )
        imports = st.session_state.get(_IMPORTS, 0)  # a new, empty picker after each import: a zip left in it was
        # imported again under the next name typed, when the next one was refused (over 50 MB) beside it
        zip_key = "data_import_zip" + (f"_{imports}" if imports else "")
        upload = st.file_uploader("A .zip of class folders", type="zip", key=zip_key)
        if st.button("Import", icon=":material/upload:", disabled=upload is None, key="data_import"):
            bar = st.progress(0.0, text="Reading your images...")
            try:
                check_room()
                name = import_name.strip() or Path(upload.name).stem
                imported = import_dataset(
                    name,
                    upload,
                    image_size=import_size,
                    progress=progress_callback(bar),
                    owner=workspace(),
                    limits=import_limits(),
                )
            except LightboxError as exc:  # said here; the datasets below stay on the page
                bar.empty()
                error_box(exc)
                return
            bar.empty()
            st.session_state[setting_key(DATA, "dataset")] = imported.name  # show it right away, below
            st.session_state[_IMPORTS] = imports + 1
            st.session_state[_IMPORTED] = (
                _imported_text(imported, upload.name),
                imported.skipped[:SKIPPED_SHOWN],
                len(imported.skipped),
            )
            st.rerun()  # drawn again with the empty picker, the sentence below it
        if said := st.session_state.pop(_IMPORTED, None):
            _say_imported(*said)


def _imported_text(imported: ImageDataset, file_name: str) -> str:
    where = "Only you see it, in your dataset lists." if is_private() else "It is now in every dataset list."
    return (
        f"Imported **{plain(imported.name)}** from {plain(file_name)}: {len(imported):,} images in "
        f"{len(imported.classes)} classes. {where}"
    )


def _say_imported(text: str, shown: tuple[str, ...], skipped: int) -> None:
    st.success(text, icon=":material/check_circle:")
    if skipped:
        with st.expander(f"Skipped files ({skipped:,})"):  # a list: each reason wraps, whole
            more = skipped - len(shown)
            st.markdown("\n".join(f"- {plain(note)}" for note in shown) + (f"\n\n…and {more:,} more." if more else ""))


def delete_ui(config: DataConfig) -> None:
    """Offer to delete the chosen dataset when it is this visitor's own (any imported one on a shared server)."""
    if config.name in DATASETS or config.owner != workspace():  # a visitor's own, or any when shared
        return
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    confirm = c1.checkbox(
        f"Delete **{plain(config.name)}** for good (runs trained on it are kept)", key=f"data_delete_{config.name}"
    )
    if c2.button("Delete dataset", icon=":material/delete:", disabled=not confirm, key="data_delete"):
        with user_errors():
            delete_user_dataset(config.name, owner=config.owner)
        del st.session_state[f"data_delete_{config.name}"]  # unticked if the name is imported again
        st.rerun()


def overview_ui(dataset: ImageDataset) -> None:
    """Show how many images and classes, their size and colour channels."""
    height, width = dataset.image_size
    row = st.container(horizontal=True, gap="medium")  # each as wide as its number, wrapping where four do not fit:
    # four columns cut presenter mode's "8 x 8 px" to "8 x ..." at 1024 x 768
    row.metric("Images", f"{len(dataset):,}", width="content")
    row.metric("Classes", len(dataset.classes), width="content")
    row.metric("Size", f"{width} x {height} px", width="content")
    row.metric("Channels", "1 (grey)" if dataset.channels == 1 else "3 (colour)", width="content")


def thumbnail_scale(dataset: ImageDataset) -> int:
    """Return how many times to enlarge the dataset's images so thumbnails are about 64 pixels across."""
    height, width = dataset.image_size
    return max(1, 64 // max(height, width))


def samples_ui(dataset: ImageDataset, scale: int) -> np.random.Generator:
    """Show a few random examples of each class (the first 20); return the random draw, for more picks of it."""
    st.subheader("Samples")
    per_class = st.slider("Examples per class", 4, 16, 8, key="data_per_class")
    if st.button("Show other examples", icon=":material/shuffle:"):
        st.session_state["data_shuffle"] = st.session_state.get("data_shuffle", 0) + 1
    rng = np.random.default_rng(st.session_state.get("data_shuffle", 0))
    labels = dataset.labels.numpy()
    for c, name in enumerate(dataset.classes[:20]):
        idx = np.flatnonzero(labels == c)
        picks = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        st.markdown(f"**{plain(name)}** · {len(idx):,} images")
        if len(picks):
            st.image(contact_strip([dataset.to_pil(int(i)) for i in picks], scale))
    if len(dataset.classes) > 20:
        st.caption(f"Showing 20 of {len(dataset.classes)} classes.")
    return rng


def augmentation_ui(dataset: ImageDataset, rng: np.random.Generator, scale: int) -> None:
    """Show one random image and seven augmented copies of it."""
    st.subheader("Augmentation preview")
    mirror = " Mirroring is off here: a mirrored symbol is another symbol." if dataset.dark_background else ""
    st.caption(
        "Augmentation shows the network slightly changed copies of each training image (moved, zoomed, turned, "
        f"recoloured), so it learns the object rather than the exact pixels.{mirror}"
    )
    c1, c2 = st.columns([1, 3])
    preset = c1.segmented_control("Preset", ["light", "strong"], default="light", key="data_augment") or "light"
    index = int(rng.integers(len(dataset)))
    flip = not dataset.dark_background
    versions = augment_preview(dataset.images[index], preset, n=7, seed=index, flip=flip)  # (7, C, H, W)
    strip = [dataset.to_pil(index)] + [tensor_to_pil(v) for v in versions]
    label = dataset.classes[int(dataset.labels[index])]
    c2.image(contact_strip(strip, scale), caption=f"Original ({plain(label)}), then 7 augmented")


def statistics_ui(dataset: ImageDataset) -> None:
    """Show the class balance and the per-channel pixel statistics and histogram."""
    left, right = st.columns(2)
    with left:
        st.subheader("Class balance")
        show_chart(class_counts_figure(dataset.classes, dataset.class_counts()), key="data_counts")
    with right:
        st.subheader("Pixel statistics")
        mean, std = dataset.channel_stats()
        names = ["grey"] if dataset.channels == 1 else ["red", "green", "blue"]
        show_table(
            arrow_table({"channel": names, "mean": mean, "std": std}),
            hide_index=True,
            column_config={
                "mean": st.column_config.NumberColumn(format="%.3f"),
                "std": st.column_config.NumberColumn(format="%.3f"),
            },
        )
        st.caption(
            "Mean and std on a 0-1 scale (the histogram below counts the stored 0-255 values). Models subtract the "
            "mean and divide by the std so every channel is comparable."
        )
        pixels = dataset.images.transpose(0, 1).reshape(dataset.channels, -1)  # (C, N*H*W)
        counts = {n: np.bincount(pixels[i].numpy(), minlength=256).tolist() for i, n in enumerate(names)}
        show_chart(pixel_histogram_figure(counts), key="data_pixels")


def map_ui(dataset: ImageDataset) -> None:
    """Draw the images as dots (PCA or t-SNE) when asked."""
    st.subheader("Map of the images")
    st.caption(
        "Each dot is one image (up to 2,000 for PCA, 600 for t-SNE). Dots close together are images the pixels alone "
        "call similar: where a class forms its own island, even a simple model can tell it apart; where colours mix, "
        "the model has to learn more than raw pixels. PCA is an instant, straight view; t-SNE takes a few seconds and "
        "pulls similar images into tighter groups. Hover over a dot for its class and number."
    )
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    method = c1.segmented_control(
        "Method", ["pca", "tsne"], default="pca", format_func={"pca": "PCA", "tsne": "t-SNE"}.get, key="data_map_method"
    )
    if c2.button("Draw the map", icon=":material/scatter_plot:", key="data_map"):
        st.session_state["data_map_on"] = True
    if st.session_state.get("data_map_on"):
        with user_errors(), st.spinner("Placing the images..."):
            projection = dataset_projection(dataset, method or "pca")
        show_chart(projection_figure(projection), key="data_map_chart")


def copies_ui(dataset: ImageDataset, config: DataConfig, scale: int) -> None:
    """Look for validation images that copy training images when asked, and show the pairs."""
    st.subheader("Copies across the split")
    st.caption(
        "The model learns from the training images and is marked on the validation images. A validation image that "
        "copies a training image, exactly or nearly (shifted brightness, a little noise), is a question the model has "
        "already seen answered, so its validation accuracy looks better than it will be on new pictures."
    )
    if st.button("Look for copies", icon=":material/content_copy:", key="data_copies"):
        st.session_state["data_copies_on"] = True
    if st.session_state.get("data_copies_on"):
        with user_errors(), st.spinner("Comparing every validation image with every training image..."):
            report = dataset_duplicates(dataset, config.val_fraction, config.split_seed)
        c1, c2 = st.columns(2)
        c1.metric("Exact copies", f"{report.exact:,}")
        c2.metric("Near copies", f"{report.near:,}")
        st.caption(
            f"{report.compared[1]:,} validation images, each compared with all {report.compared[0]:,} training images."
        )
        if report.pairs:
            train_part, val_part = train_val_split(dataset, config)
            st.image(
                [
                    contact_strip([train_part.to_pil(p.train_index), val_part.to_pil(p.val_index)], scale)
                    for p in report.pairs
                ],
                caption=[("exact copy" if p.exact else f"distance {p.distance:.3f}") for p in report.pairs],
            )
            st.caption("Each pair: the training image, then the validation image. 0 means identical thumbnails.")
        else:
            st.success("No validation image copies a training image.", icon=":material/check_circle:")
