"""Statistics for supervisors: the dashboard's and the printed summaries' figures, and the charts that show them."""
