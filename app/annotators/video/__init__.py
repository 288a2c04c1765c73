"""Video annotation: tracks of keyframes and the interpolation between them."""
