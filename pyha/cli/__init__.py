"""pyha.cli"""
