"""rerankq worker side: load an ONNX reranker once and serve rerank jobs from Redis."""
