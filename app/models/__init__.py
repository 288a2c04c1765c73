"""Pre-labelers: machine-learning models (and a classical fallback) that propose shapes for a
human to correct. Qt-free and store-free: images in, proposals out; `outputs` turns proposals
into annotation shapes and `feedback` judges what the human did with them."""
