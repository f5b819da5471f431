"""pyha.resources"""
