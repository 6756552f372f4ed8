"""What every page shares: Jinja filters for times and booking answers (filters.py), and
one page of a long list (paging.py)."""
