from django.contrib import admin

from yigongti.core.admin import AuditedModelAdmin

from .models import Consortium, Department, Institution, Secondment, Staff


@admin.register(Consortium)
class ConsortiumAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "county_code", "county_name"]
    search_fields = ["code", "name"]


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0


@admin.register(Institution)
class InstitutionAdmin(AuditedModelAdmin):
    list_display = ["code", "name", "kind", "level", "parent", "is_active"]
    list_filter = ["kind", "level", "is_active"]
    search_fields = ["code", "name", "short_name"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["level"]


@admin.register(Department)
class DepartmentAdmin(AuditedModelAdmin):
    list_display = ["institution", "code", "name", "category", "beds"]
    list_filter = ["category"]
    search_fields = ["name", "institution__name"]
    autocomplete_fields = ["institution"]


@admin.register(Staff)
class StaffAdmin(AuditedModelAdmin):
    list_display = ["employee_no", "name", "institution", "profession", "title", "is_active"]
    list_filter = ["profession", "title", "is_active"]
    search_fields = ["name", "employee_no"]
    autocomplete_fields = ["institution", "department", "user"]


@admin.register(Secondment)
class SecondmentAdmin(AuditedModelAdmin):
    list_display = ["staff", "home", "host", "start_date", "end_date", "ended_early_on"]
    autocomplete_fields = ["staff", "home", "host"]
