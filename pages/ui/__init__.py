"""What the pages share, by concern: the frame, the sign-in gate, the sidebar and its menu, widgets, charts, times,
and the one module every backend read goes through (data)."""
