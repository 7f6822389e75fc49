"""How things look: HTML fragments built from domain values, shared by the page routes and the templates."""
