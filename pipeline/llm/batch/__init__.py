"""Groq's Batch API: the JSONL lines sent and read back (`lines`), the batches kept in the
warehouse (`ledger`), and submitting and collecting them through the SDK (`submission`)."""
