"""`make bench`: each measure of orderbot beside an anchor measured in the same run."""
