"""Code that runs inside the Rasa process: custom channels and NLU add-ons."""
