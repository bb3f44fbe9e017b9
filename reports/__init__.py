"""Reports: statistics, figures, paper tables and Markdown/HTML rendering."""
