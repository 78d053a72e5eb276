"""The staff lifecycle (issue 18): the directory sync (`sync`), absences (`absence`), the staff page's queries
(`queries`) and its views (`views`)."""
