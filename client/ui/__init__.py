"""The application side of updating: a toolkit-neutral controller and its adapters."""
