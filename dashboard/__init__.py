"""Streamlit glue for Lightbox: cached resources, widget groups and charts. Pages import from here."""
