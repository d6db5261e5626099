"""``rerankq bench``: one command that measures the scorer, the queue and the alternatives.

Heavy or optional pieces (torch, sentence-transformers, matplotlib) are imported
only by the parts that need them; without them the bench skips those parts and
says so.
"""
