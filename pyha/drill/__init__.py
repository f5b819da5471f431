"""pyha.drill"""
