"""The on-screen avatar (pygame is imported only by the renderer module)."""
