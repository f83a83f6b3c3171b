"""Taxi-style trips (data/generate_taxi.py): will the rider tip more than 20 %?"""
