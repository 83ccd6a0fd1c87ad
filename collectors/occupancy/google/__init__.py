"""Google Calendar occupancy: the adapter, its API client, the OAuth flow and its web page, and the prediction."""
