"""Ranking quality against an expert's labels: no Dagster.

The expert's export format (`labels`), the metrics (`metrics`: precision, recall, F1, NDCG@k,
precision@k, hit@1), threshold tuning and leave-one-company-out (`calibration`), the
`persona-ranker eval` report (`report`), and the title reader against its corpus of
expected readings (`title_corpus`).
"""
