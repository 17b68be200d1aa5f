"""Command-line interface (thin: parses arguments, calls the library, prints)."""
