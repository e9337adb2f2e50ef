"""The cereal example: find the sugariest cereals, once as assets and once as an op job."""
