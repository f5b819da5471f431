"""pyha.host"""
