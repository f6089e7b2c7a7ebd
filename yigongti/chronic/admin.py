from django.contrib import admin

from yigongti.core.admin import AuditedModelAdmin

from .models import Enrollment, Task


@admin.register(Enrollment)
class EnrollmentAdmin(AuditedModelAdmin):
    list_display = ("patient", "programme", "village", "diagnosed_on", "risk_level", "is_active")
    list_filter = ("programme", "risk_level", "is_active")
    raw_id_fields = ("patient", "village", "enrolled_by")


@admin.register(Task)
class TaskAdmin(AuditedModelAdmin):
    list_display = ("patient", "programme", "due_on", "priority", "status", "rule_version")
    list_filter = ("programme", "priority", "status")
    raw_id_fields = ("patient", "village")
