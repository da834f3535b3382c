"""The views beside the tree: the tensor panel and its plots, tables and charts."""
