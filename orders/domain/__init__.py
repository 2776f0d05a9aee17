"""The order domain: plain Python, no framework or database imports."""
