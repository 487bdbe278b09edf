"""Scale: the batch jobs as Ray Data jobs, on a local Ray or a cluster. Needs `pip install 'townsquare[scale]'`."""
