"""pyha.media"""
