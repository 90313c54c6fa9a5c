"""The document model: frozen records and the custom spaCy attributes medlens adds."""
