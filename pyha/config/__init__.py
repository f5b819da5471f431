"""pyha.config"""
