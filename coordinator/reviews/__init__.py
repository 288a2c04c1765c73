"""Expert review: items that consensus could not settle; an expert decision is final."""
