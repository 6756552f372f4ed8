"""The clinic's team, run by its admins: the list (members.py), invite links (invites.py),
``/team`` and ``/join/<token>`` (views.py, forms.py)."""
