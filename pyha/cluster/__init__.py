"""pyha.cluster"""
