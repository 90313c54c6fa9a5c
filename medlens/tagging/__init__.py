"""Torch-free tagging utilities shared by the training stack and the ONNX components:
word/subword alignment, windows, BIO decoding (``alignment``) and model folder files
(``files``: tokenizer, labels)."""
