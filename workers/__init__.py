"""Process entry points for the RQ worker and the periodic scheduler (see Procfile)."""
