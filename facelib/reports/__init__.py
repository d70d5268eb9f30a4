"""Reports: the comparison of runs, example predictions, charts and pictures."""
