"""Handwritten digits, 8x8 images (scikit-learn's bundled set), with a TFLite export."""
