"""pyha.lab"""
