"""pyha.daemon"""
