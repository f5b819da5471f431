"""pyha.wire"""
