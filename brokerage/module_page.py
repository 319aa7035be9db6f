"""The landing page of a module whose features arrive in a later issue.

It says plainly what the module will hold; it shows no made-up figures.
"""

from django.shortcuts import render

from brokerage.permissions import capability_required


def module_home(*, title: str, capability: str, summary: str, coming: list[str]):
    @capability_required(capability)
    def view(request):
        return render(request, "ops/module_home.html", {"title": title, "summary": summary, "coming": coming})

    return view
