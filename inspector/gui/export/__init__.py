"""Export: Include and Freeze boxes on the tree (export mode), the summary under it, and the dialog that writes the state dict."""
